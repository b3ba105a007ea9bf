// The registry module: OCI distribution client.
