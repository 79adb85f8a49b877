"""reclaimer: gives idle GPUs back by stopping and restarting KServe InferenceServices."""
