"""The federation service: signed gRPC fan-out to every partner agency's search node."""
