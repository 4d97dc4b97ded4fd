#include "proto/x800_usb.hpp"

#include <algorithm>
#include <stdexcept>

#include "proto/bytes.hpp"
#include "proto/x800.hpp"

namespace deskline::proto::x800::usb {
namespace {

// Audio class codes (USB Audio Class 1.0).
constexpr std::uint8_t class_audio = 0x01;
constexpr std::uint8_t subclass_audio_control = 0x01;
constexpr std::uint8_t subclass_audio_streaming = 0x02;
constexpr std::uint8_t class_vendor = 0xFF;
constexpr std::uint8_t ac_header = 0x01;
constexpr std::uint8_t ac_input_terminal = 0x02;
constexpr std::uint8_t ac_output_terminal = 0x03;
constexpr std::uint8_t as_general = 0x01;
constexpr std::uint8_t as_format_type = 0x02;
constexpr std::uint8_t ep_general = 0x01;
constexpr std::uint16_t terminal_phone_line = 0x0501;
constexpr std::uint16_t terminal_usb_streaming = 0x0101;
constexpr std::uint16_t format_pcm = 0x0001;
constexpr std::uint8_t input_terminal_id = 1;
constexpr std::uint8_t output_terminal_id = 2;
constexpr std::uint8_t transfer_interrupt = 0x03;
constexpr std::uint8_t transfer_isochronous_async = 0x05;

std::uint8_t to_bcd(std::uint8_t value) {
  return static_cast<std::uint8_t>(((value / 10) % 10) << 4 | (value % 10));
}

void validate(const DeviceIdentity& identity) {
  if (identity.line_count == 0 || identity.line_count > max_lines)
    throw std::invalid_argument("x800 usb: line_count must be 1..16");
  if (identity.sample_rates_hz.empty() || identity.sample_rates_hz.size() > 4)
    throw std::invalid_argument("x800 usb: 1..4 sample rates");
  for (auto rate : identity.sample_rates_hz)
    if (rate == 0 || rate > 0xFFFFFF) throw std::invalid_argument("x800 usb: bad sample rate");
}

// One millisecond of the fastest rate plus one frame of slack, as UAC1
// asynchronous endpoints size their packets.
std::uint16_t audio_packet_size(const DeviceIdentity& identity) {
  const auto fastest = *std::max_element(identity.sample_rates_hz.begin(), identity.sample_rates_hz.end());
  const std::uint32_t frames = fastest / 1000 + 1;
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(frames * identity.line_count * 2u, 1023u));
}

}  // namespace

std::vector<std::uint8_t> device_descriptor(const DeviceIdentity& identity) {
  validate(identity);
  ByteWriter bytes;
  bytes.u8(18)
      .u8(descriptor_device)
      .u16(0x0200)  // bcdUSB 2.0
      .u8(0x00)     // class defined per interface
      .u8(0x00)
      .u8(0x00)
      .u8(static_cast<std::uint8_t>(packet_size))  // bMaxPacketSize0
      .u16(identity.vendor_id)
      .u16(identity.product_id)
      .u16(static_cast<std::uint16_t>(to_bcd(identity.firmware_major) << 8 | to_bcd(identity.firmware_minor)))
      .u8(string_manufacturer)
      .u8(string_product)
      .u8(string_serial)
      .u8(1);  // bNumConfigurations
  return bytes.take();
}

std::vector<std::uint8_t> configuration_descriptor(const DeviceIdentity& identity) {
  validate(identity);
  ByteWriter bytes;
  bytes.u8(9)
      .u8(descriptor_configuration)
      .u16(0)  // wTotalLength, patched below
      .u8(3)   // bNumInterfaces
      .u8(1)   // bConfigurationValue
      .u8(0)   // iConfiguration
      .u8(0x80)  // bus powered
      .u8(identity.max_power_2ma);

  // Interface 0: the vendor event/command interface.
  bytes.u8(9).u8(descriptor_interface).u8(vendor_interface).u8(0).u8(2).u8(class_vendor).u8(0).u8(0).u8(0);
  bytes.u8(7).u8(descriptor_endpoint).u8(endpoint_events_in).u8(transfer_interrupt).u16(packet_size)
      .u8(identity.interrupt_interval_ms);
  bytes.u8(7).u8(descriptor_endpoint).u8(endpoint_commands_out).u8(transfer_interrupt).u16(packet_size)
      .u8(identity.interrupt_interval_ms);

  // Interface 1: audio control. Header, then the phone lines as one
  // multi-channel input terminal feeding the streaming output terminal.
  bytes.u8(9).u8(descriptor_interface).u8(audio_control_interface).u8(0).u8(0).u8(class_audio)
      .u8(subclass_audio_control).u8(0).u8(0);
  constexpr std::uint8_t header_length = 9, input_length = 12, output_length = 9;
  bytes.u8(header_length).u8(descriptor_cs_interface).u8(ac_header).u16(0x0100)
      .u16(header_length + input_length + output_length)
      .u8(1)  // bInCollection
      .u8(audio_streaming_interface);
  bytes.u8(input_length).u8(descriptor_cs_interface).u8(ac_input_terminal).u8(input_terminal_id)
      .u16(terminal_phone_line).u8(0).u8(identity.line_count)
      .u16(0)  // wChannelConfig: no spatial positions, lines are independent
      .u8(0).u8(0);
  bytes.u8(output_length).u8(descriptor_cs_interface).u8(ac_output_terminal).u8(output_terminal_id)
      .u16(terminal_usb_streaming).u8(0).u8(input_terminal_id).u8(0);

  // Interface 2: audio streaming, zero-bandwidth alt 0 and the capture alt 1.
  bytes.u8(9).u8(descriptor_interface).u8(audio_streaming_interface).u8(0).u8(0).u8(class_audio)
      .u8(subclass_audio_streaming).u8(0).u8(0);
  bytes.u8(9).u8(descriptor_interface).u8(audio_streaming_interface).u8(1).u8(1).u8(class_audio)
      .u8(subclass_audio_streaming).u8(0).u8(0);
  bytes.u8(7).u8(descriptor_cs_interface).u8(as_general).u8(output_terminal_id).u8(1).u16(format_pcm);
  const auto rate_count = static_cast<std::uint8_t>(identity.sample_rates_hz.size());
  bytes.u8(static_cast<std::uint8_t>(8 + 3 * rate_count)).u8(descriptor_cs_interface).u8(as_format_type)
      .u8(1)  // FORMAT_TYPE_I
      .u8(identity.line_count)
      .u8(2)    // bSubframeSize: bytes per sample
      .u8(16)   // bBitResolution
      .u8(rate_count);
  for (auto rate : identity.sample_rates_hz) bytes.u24(rate);
  // UAC1 endpoints carry bRefresh and bSynchAddress: 9 bytes, not 7.
  bytes.u8(9).u8(descriptor_endpoint).u8(endpoint_audio_in).u8(transfer_isochronous_async)
      .u16(audio_packet_size(identity)).u8(1).u8(0).u8(0);
  bytes.u8(7).u8(descriptor_cs_endpoint).u8(ep_general).u8(0x01 /* sampling frequency control */)
      .u8(0).u16(0);

  store_le16(bytes.bytes(), 2, static_cast<std::uint16_t>(bytes.size()));  // wTotalLength
  return bytes.take();
}

std::vector<std::uint8_t> sysfs_descriptors(const DeviceIdentity& identity) {
  ByteWriter bytes;
  bytes.append(device_descriptor(identity)).append(configuration_descriptor(identity));
  return bytes.take();
}

std::vector<std::uint8_t> string_descriptor(std::uint8_t index, std::string_view text) {
  ByteWriter bytes;
  if (index == 0) {
    bytes.u8(4).u8(descriptor_string).u16(language_en_us);
    return bytes.take();
  }
  const std::size_t characters = std::min<std::size_t>(text.size(), 126);
  bytes.u8(static_cast<std::uint8_t>(2 + 2 * characters)).u8(descriptor_string);
  for (std::size_t i = 0; i < characters; ++i) bytes.u16(static_cast<unsigned char>(text[i]));
  return bytes.take();
}

}  // namespace deskline::proto::x800::usb
