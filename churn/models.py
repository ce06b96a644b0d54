"""Models of the churn app; filled by its own issue."""
