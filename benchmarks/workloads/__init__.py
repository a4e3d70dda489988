"""One module per workload of ../shared/bench.

Each has load(work, limit), compute(inputs) and write(path, inputs, result).
"""
