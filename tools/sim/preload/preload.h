/* Shared by the pieces of the deskline-sim preload shim. */
#ifndef DESKLINE_SIM_PRELOAD_H
#define DESKLINE_SIM_PRELOAD_H

/* Called after every successful open of path as fd (fifo_read.c). */
void deskline_sim_note_open(const char *path, int fd);

#endif
