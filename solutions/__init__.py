"""Reference solutions: same modules, names and signatures as exercises/, written to be read."""
