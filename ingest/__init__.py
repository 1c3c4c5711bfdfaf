"""Reading source files into documents and cutting them into Chinese-aware chunks."""
