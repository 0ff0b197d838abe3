"""An agency's search node: its records in its own OpenSearch, searched over gRPC."""
