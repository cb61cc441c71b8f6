"""One module per archive: how to enumerate and fetch its records over HTTP."""
