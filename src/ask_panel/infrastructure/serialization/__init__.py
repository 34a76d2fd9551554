"""JSON forms of the domain at the edge: the stored panel body and the event log's data."""
