"""tinyc: Keras / int8 TFLite models to bit-exact CMSIS-NN firmware for STM32 microcontrollers."""

__version__ = "0.1.0"
