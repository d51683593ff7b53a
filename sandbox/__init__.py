"""Local stand-ins for the chat platforms, as strict as the real ones.

Used by the tests, the demo and the benchmarks; never imported by the product's runtime
(`loa run` / `loa bot` / `loa api` / `loa worker`): a test checks `sys.modules`.
"""
