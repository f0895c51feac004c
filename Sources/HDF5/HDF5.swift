/// Placeholder: this module is being written.
public enum HDF5Module {}
