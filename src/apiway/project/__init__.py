"""The project file at start-up: its APIs imported, checked and deployed into the store when they changed."""
