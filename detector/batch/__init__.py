"""Files in, JSON lines out: `score_file` (run) reads records (io, records), checks the
output paths (guards), scores each batch (process) in one process, a pool (pool) or on Ray
(ray_engine), and writes them crash-safely (sink, writers) with a progress bar (progress)."""
