# Empties the folder the test suite's scratch folders go in (run by CTest before any test):
# a test killed by its timeout or a crash cannot remove its own, so the next run does.
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")
