"""hls4ml configuration and generated firmware projects."""
