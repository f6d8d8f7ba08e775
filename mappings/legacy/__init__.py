"""Legacy Orders API wire format <-> canonical model, one module per operation."""
