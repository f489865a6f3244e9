// What long work reports while it goes, to whoever shows it: the command line installs a listener
// that draws one line on a terminal (cli/progress_line.h). Without a listener nothing is reported.
#pragma once

#include <string_view>

namespace tidemark {

class Progress {
 public:
  virtual ~Progress() = default;
  // `what` is under way ("reading bt/123.tmtrace"); done: the share done, from 0 to 1, or a
  // negative number when it cannot be told.
  virtual void step(std::string_view what, double done) = 0;
  // The work is over (or failed): whatever was shown goes before anything else is printed.
  virtual void end() = 0;
};

// The listener (nullptr: none). Not owned.
void setProgress(Progress* listener);
void reportProgress(std::string_view what, double done);
void endProgress();

}  // namespace tidemark
