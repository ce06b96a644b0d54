"""Models of the lifecycle app; filled by its own issue."""
