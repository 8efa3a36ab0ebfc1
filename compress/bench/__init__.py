"""The latency and accuracy harness: every model x target profile measured in its own subprocess."""
