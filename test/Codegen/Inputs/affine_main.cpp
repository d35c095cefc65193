// A user's program, linked against an object file that gradc emitted.
#include "affine.h"

#include <cstdio>

int main() {
  const double W[4] = {1, 2, 3, 4}, x[2] = {5, 6}, b[2] = {7, 8};
  const double dz[2] = {10, -1};
  double z[2], dW[4], dx[2], db[2];
  if (gradc_affine_grad(W, x, b, dz, z, dW, dx, db) != 0)
    return 1;
  std::printf("z %g %g\n", z[0], z[1]);
  std::printf("dW %g %g %g %g\n", dW[0], dW[1], dW[2], dW[3]);
  std::printf("dx %g %g\n", dx[0], dx[1]);
  std::printf("db %g %g\n", db[0], db[1]);
  // The mini-batch layer, with the symbolic batch size N = 2.
  const float X[6] = {1, 2, 3, 4, 5, 6}, Wb[3 * 2] = {1, 0, 0, 1, 1, 1};
  const float bb[2] = {1, 2};
  float Z[4];
  if (gradc_layer(X, Wb, bb, 2, Z) != 0)
    return 1;
  std::printf("Z %g %g %g %g\n", Z[0], Z[1], Z[2], Z[3]);
  return 0;
}
