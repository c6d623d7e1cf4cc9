// Umbrella header for MPI (pkg-config: ompi-c).
//
// Open MPI defines its predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM,
// MPI_IN_PLACE, ...) as macros that cast the address of a global object; Swift
// cannot import such macros. These static inline accessors give Swift a
// function to call for each handle the runtime uses. Only
// GradMixDistributed/MPICommunicator.swift imports this module.
#pragma once
#include <mpi.h>

static inline MPI_Comm gm_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm gm_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype gm_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype gm_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype gm_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype gm_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype gm_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op gm_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op gm_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op gm_mpi_max(void) { return MPI_MAX; }
static inline void *gm_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler gm_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request gm_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *gm_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Info gm_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int gm_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int gm_mpi_success(void) { return MPI_SUCCESS; }
static inline int gm_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int gm_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
