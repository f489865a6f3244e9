// What the tracker gives a thread (its stream, its stack cache) is handed back when the thread
// ends, through one pthread key whose destructor runs the release functions registered at start.
#pragma once

namespace tidemark::preload {

// Registers a function to run in every ending thread that called watchThreadEnd (at most four,
// registered once at start, before any thread is watched).
void onThreadEnd(void (*release)());
// Creates the key (at start; pthread_key_create does not allocate).
void initThreadEnd();
// Asks for the release functions to run when the calling thread ends. Cheap after the first call.
void watchThreadEnd();

}  // namespace tidemark::preload
