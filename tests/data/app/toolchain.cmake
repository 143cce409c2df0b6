# arm-none-eabi-gcc on PATH; no CPU flags here: the models' libraries add them (their <NAME>_SET_CPU_FLAGS option).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
