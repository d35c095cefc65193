// A training step's view of an emitted loss and its gradient: parameters by
// name, outputs sized from the symbolic dims, the gradient without a seed,
// and the checked entry points' status for shapes that contradict.
#include "loss.h"

#include <cstdio>
#include <vector>

static void print(const char *what, const std::vector<float> &v) {
  std::printf("%s", what);
  for (float x : v)
    std::printf(" %g", x);
  std::printf("\n");
}

int main() {
  const int64_t N = 2;
  const float X[6] = {1, 2, 3, 4, 5, 6}, W[6] = {1, 0, 0, 1, 1, 1};
  const float b[2] = {1, 2}, y[4] = {0, 0, 0, 0};
  int64_t shape[gradc_loss_grad_dW_rank];
  gradc_loss_grad_dW_shape(N, shape);
  std::printf("dW rank %d shape %lld %lld\n", (int)gradc_loss_grad_dW_rank,
              (long long)shape[0], (long long)shape[1]);
  std::vector<float> L(gradc_loss_grad_L_size(N));
  std::vector<float> dW(gradc_loss_grad_dW_size(N));
  std::vector<float> db(gradc_loss_grad_db_size(N));
  int rc =
      gradc_loss_grad_noseed(X, W, b, y, N, L.data(), dW.data(), db.data());
  std::printf("noseed %d\n", rc);
  print("L", L);
  print("dW", dW);
  print("db", db);

  // The general VJP entry point takes the seed: 2 doubles the gradient.
  const float seed = 2;
  rc = gradc_loss_grad(X, W, b, y, &seed, N, L.data(), dW.data(), db.data());
  std::printf("seed 2: %d\n", rc);
  print("dW", dW);

  const int64_t Xs[2] = {2, 3}, Ws[2] = {3, 2}, bs[1] = {2}, ys[2] = {2, 2};
  const int64_t ysBad[2] = {3, 2}, WsBad[2] = {3, 3};
  const int64_t Xs0[2] = {0, 3}, ys0[2] = {0, 2};
  rc = gradc_loss_grad_noseed_checked(X, Xs, W, Ws, b, bs, y, ys, L.data(),
                                      dW.data(), db.data());
  std::printf("checked %d\n", rc);
  print("dW", dW);
  std::printf("N 2 vs 3: %d\n",
              gradc_loss_grad_noseed_checked(X, Xs, W, Ws, b, bs, y, ysBad,
                                             L.data(), dW.data(), db.data()));
  std::printf("W 3x3: %d\n",
              gradc_loss_grad_noseed_checked(X, Xs, W, WsBad, b, bs, y, ys,
                                             L.data(), dW.data(), db.data()));
  std::printf("N 0: %d\n",
              gradc_loss_checked(X, Xs0, W, Ws, b, bs, y, ys0, L.data()));
  std::printf("bad shape is %d\n", (int)GRADC_BAD_SHAPE);
  rc = gradc_loss_grad_checked(X, Xs, W, Ws, b, bs, y, ys, &seed, L.data(),
                               dW.data(), db.data());
  std::printf("checked seed 2: %d\n", rc);
  print("db", db);
  return 0;
}
