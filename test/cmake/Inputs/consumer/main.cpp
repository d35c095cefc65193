// Calls the build-time generated @loss.grad and prints its results as JSON.
#include "model.h"

#include <cstdio>

int main() {
  const int64_t N = 4;
  const double X[N * 3] = {0.5, -1, 2, 1.5, 0.25, -0.5, -2, 1, 0.75, 0, 0.5, 1};
  const double y[N] = {1, 0, 1, 0};
  const double W[3] = {0.1, -0.2, 0.3}, b = 0.05, seed = 1;
  double L, dW[3], db;
  if (gradc_loss_grad(X, y, W, &b, &seed, N, &L, dW, &db) != 0)
    return 1;
  std::printf("{\"outputs\": [%.17g], \"gradients\": {\"W\": [%.17g, %.17g, "
              "%.17g], \"b\": %.17g}}\n",
              L, dW[0], dW[1], dW[2], db);
  // Plain gradient descent: the loss must go down.
  double w[3] = {W[0], W[1], W[2]}, bb = b, L0 = L;
  for (int step = 0; step < 50; ++step) {
    if (gradc_loss_grad(X, y, w, &bb, &seed, N, &L, dW, &db) != 0)
      return 1;
    for (int i = 0; i < 3; ++i)
      w[i] -= 0.5 * dW[i];
    bb -= 0.5 * db;
  }
  return L < L0 ? 0 : 2;
}
