"""Small helpers every other package uses; they import nothing above them."""
