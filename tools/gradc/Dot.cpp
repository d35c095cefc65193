// In progress: replaced by the Graphviz writer.
#include "Driver.h"
int gradc::driver::runDot() { return fail("gradc dot: in progress"); }
