"""The index on disk and its lifecycle: files, chunk store, commits, the one writer, loading."""
