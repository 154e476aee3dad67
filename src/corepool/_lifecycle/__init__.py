"""Starting and ending: the start method, interpreter exit, signals."""
