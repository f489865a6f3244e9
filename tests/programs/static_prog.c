/* A statically linked program: LD_PRELOAD cannot enter it. */
#include <stdio.h>
int main(void) {
  puts("static");
  return 0;
}
