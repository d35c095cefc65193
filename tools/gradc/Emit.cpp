// In progress: replaced by the backends.
#include "Driver.h"
int gradc::driver::runEmit() { return fail("gradc emit: in progress"); }
