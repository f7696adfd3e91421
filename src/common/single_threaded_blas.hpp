// OpenBLAS on one thread for the lifetime of a guard. Internal to src/.
//
// descpipe parallelises its BLAS/LAPACK work itself, over fixed tiles (similarity/spearman.cpp),
// or runs it on one thread (stats/vif.cpp): threaded OpenBLAS splits sums differently for each
// thread count, which would make outputs depend on the machine.
#pragma once

extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace descpipe {

class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : previous_(openblas_get_num_threads()) { openblas_set_num_threads(1); }
  ~SingleThreadedBlas() { openblas_set_num_threads(previous_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int previous_;
};

}  // namespace descpipe
