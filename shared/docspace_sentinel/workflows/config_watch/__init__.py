"""Configuration watch: changes to who may do what and how the portal is protected."""
