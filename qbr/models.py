"""Models of the qbr app; filled by its own issue."""
