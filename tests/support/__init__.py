"""Test helpers shared by the suite: real git repositories and Django projects on disk."""
