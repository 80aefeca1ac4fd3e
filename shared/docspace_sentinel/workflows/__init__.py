"""The detection and response logic of each workflow, as plain functions over typed records."""
