/* vfork then execvp, twenty times: the children share the parent's memory until they exec, and
   must write nothing into its trace (no Ending of the parent, no dlsym in the child). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
/* One vfork and exec; its own function, so that nothing of main's lives across the vfork. */
static __attribute__((noinline)) int spawnTrue(void) {
  pid_t p = vfork();
  if (p == 0) {
    char* argv[] = {"true", NULL};
    execvp("true", argv);
    _exit(127);
  }
  int st;
  waitpid(p, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void) {
  for (int i = 0; i < 20; ++i) {
    if (!spawnTrue()) {
      printf("bad\n");
      return 1;
    }
  }
  void* x = malloc(100);
  printf("ok %p\n", x != NULL ? (void*)1 : NULL);
  return 0;
}
