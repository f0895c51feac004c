#pragma once
#include <cblas.h>
/* Declared by OpenBLAS's cblas.h on Debian; repeated here for builds whose header lacks them. */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
char *openblas_get_config(void);
