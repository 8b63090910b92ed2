// Put first on the include path of the studio's Qt code (ui/CMakeLists.txt): every LibTorch header reaches this
// file, so including ATen, c10 or torch from a Qt translation unit stops the build here instead of meeting Qt's
// `slots` macro. The studio reaches the engine through engine/jobs/workspace.h, which is torch-free.
#error "LibTorch included from a Qt translation unit: use the torch-free engine/jobs headers (docs/ARCHITECTURE.md, 'Layers')"
