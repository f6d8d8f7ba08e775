"""The cutover: which target serves each app's operations (the policy, its file, its hot reload
and its edits), the router that decides per call, the backfill of legacy history, and the
operator's commands and view of it."""
