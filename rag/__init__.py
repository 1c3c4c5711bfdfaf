"""Question answering over Chinese industry reports and news."""
