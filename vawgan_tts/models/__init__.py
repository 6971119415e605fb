"""Models: plain nn.Modules. They never touch files, the CLI or the device choice."""
