// USB descriptors of an X800-style line box: what the box answers to
// GET_DESCRIPTOR and what Linux exposes in sysfs "descriptors". Pure builders:
// the simulator uses them to present a virtual box, tests use them to check
// that the layout is what drivers expect. Layout (one configuration):
//   interface 0  vendor class 0xFF: EP 0x81 interrupt IN (reports),
//                EP 0x02 interrupt OUT (commands), 64-byte packets
//   interface 1  USB Audio Class 1 audio control: phone-line input terminal
//                -> USB streaming output terminal
//   interface 2  UAC1 audio streaming: alt 0 idle, alt 1 one isochronous IN
//                endpoint 0x83 carrying N channels of 16-bit PCM
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deskline::proto::x800::usb {

inline constexpr std::uint8_t descriptor_device = 0x01;
inline constexpr std::uint8_t descriptor_configuration = 0x02;
inline constexpr std::uint8_t descriptor_string = 0x03;
inline constexpr std::uint8_t descriptor_interface = 0x04;
inline constexpr std::uint8_t descriptor_endpoint = 0x05;
inline constexpr std::uint8_t descriptor_cs_interface = 0x24;  // audio class-specific
inline constexpr std::uint8_t descriptor_cs_endpoint = 0x25;

inline constexpr std::uint8_t audio_control_interface = 1;
inline constexpr std::uint8_t audio_streaming_interface = 2;
inline constexpr std::uint8_t endpoint_audio_in = 0x83;
inline constexpr std::uint16_t packet_size = 64;

// String descriptor indexes used by the device descriptor.
inline constexpr std::uint8_t string_manufacturer = 1;
inline constexpr std::uint8_t string_product = 2;
inline constexpr std::uint8_t string_serial = 3;
inline constexpr std::uint16_t language_en_us = 0x0409;

struct DeviceIdentity {
  std::uint16_t vendor_id = 0x1209;
  std::uint16_t product_id = 0x8800;
  std::uint8_t firmware_major = 1;  // bcdDevice = major.minor in BCD
  std::uint8_t firmware_minor = 0;
  std::uint8_t line_count = 4;                    // audio channels, 1..16
  std::vector<std::uint32_t> sample_rates_hz{8000};  // 1..4 discrete rates
  std::uint8_t interrupt_interval_ms = 1;         // bInterval (full speed: frames)
  std::uint8_t max_power_2ma = 50;                // bMaxPower, units of 2 mA
};

// 18-byte device descriptor.
std::vector<std::uint8_t> device_descriptor(const DeviceIdentity& identity);
// Configuration descriptor with every interface, endpoint and audio-class
// descriptor; wTotalLength is the size of the returned bytes.
std::vector<std::uint8_t> configuration_descriptor(const DeviceIdentity& identity);
// What the kernel shows in sysfs "descriptors": device then configuration.
std::vector<std::uint8_t> sysfs_descriptors(const DeviceIdentity& identity);
// String descriptor 0 (language list) when index is 0, otherwise the UTF-16LE
// encoding of text (ASCII expected; truncated to the 126 characters a
// descriptor can hold).
std::vector<std::uint8_t> string_descriptor(std::uint8_t index, std::string_view text);

}  // namespace deskline::proto::x800::usb
