"""Models of the migrations notify app; filled by its own issue."""
