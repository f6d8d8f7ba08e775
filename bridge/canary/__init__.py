"""The automated canary: per app and operation, analyse the canary cohort against the baseline
and advance, hold or roll back the plan the policy declares (docs/runbook.md)."""
