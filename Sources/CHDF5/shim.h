#pragma once
#include <hdf5.h>
#include <hdf5_hl.h> /* dimension scales (H5DSset_label); libhdf5_hl sits next to libhdf5 */
/* HDF5's identifiers below are macros that call into the library (H5open) and do not import
 * into Swift; these functions expose them. */
static inline hid_t fl_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t fl_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t fl_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t fl_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t fl_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t fl_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t fl_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t fl_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t fl_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t fl_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t fl_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t fl_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline unsigned fl_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned fl_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned fl_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned fl_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline hsize_t fl_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline size_t fl_H5T_VARIABLE(void) { return H5T_VARIABLE; }
/* H5Fis_accessible appeared in 1.12; 1.10 (Debian bookworm) only has H5Fis_hdf5. */
static inline htri_t fl_H5Fis_accessible(const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Fis_accessible(name, H5P_DEFAULT);
#else
    return H5Fis_hdf5(name);
#endif
}
