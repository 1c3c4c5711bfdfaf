"""Test helpers shipped with the package (scripted servers), importable by the test suite."""
