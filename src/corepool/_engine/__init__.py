"""The backend-neutral engine: task records, chunking, the streaming window, dispatch, results.

See ``engine.py`` for the data flow.
"""
