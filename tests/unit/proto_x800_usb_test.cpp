// USB descriptors of the X800 box (proto/x800_usb.hpp, proto/x800.md section 2):
// walk the bytes as a host would and check every length, address and total.
#include "proto/x800_usb.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using namespace deskline::proto::x800::usb;

std::uint16_t u16_at(const std::vector<std::uint8_t>& bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(bytes.at(offset) | bytes.at(offset + 1) << 8);
}

// Splits a configuration descriptor into its descriptors, checking that
// their lengths tile the buffer exactly.
std::vector<std::vector<std::uint8_t>> split(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::vector<std::uint8_t>> descriptors;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const std::size_t length = bytes[offset];
    EXPECT_GE(length, 2u) << "at offset " << offset;
    if (length < 2 || offset + length > bytes.size()) {
      ADD_FAILURE() << "descriptor at " << offset << " runs past the end";
      break;
    }
    descriptors.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                             bytes.begin() + static_cast<std::ptrdiff_t>(offset + length));
    offset += length;
  }
  EXPECT_EQ(offset, bytes.size());
  return descriptors;
}

TEST(X800Usb, DeviceDescriptor) {
  DeviceIdentity identity;
  identity.firmware_major = 1;
  identity.firmware_minor = 4;
  const auto device = device_descriptor(identity);
  ASSERT_EQ(device.size(), 18u);
  EXPECT_EQ(device[0], 18);
  EXPECT_EQ(device[1], descriptor_device);
  EXPECT_EQ(u16_at(device, 2), 0x0200);  // bcdUSB
  EXPECT_EQ(device[4], 0x00);            // class per interface
  EXPECT_EQ(device[7], 64);              // bMaxPacketSize0
  EXPECT_EQ(u16_at(device, 8), 0x1209);
  EXPECT_EQ(u16_at(device, 10), 0x8800);
  EXPECT_EQ(u16_at(device, 12), 0x0104);  // bcdDevice 1.4
  EXPECT_EQ(device[14], string_manufacturer);
  EXPECT_EQ(device[15], string_product);
  EXPECT_EQ(device[16], string_serial);
  EXPECT_EQ(device[17], 1);  // one configuration
}

TEST(X800Usb, BcdOfTwoDigitVersions) {
  DeviceIdentity identity;
  identity.firmware_major = 12;
  identity.firmware_minor = 34;
  EXPECT_EQ(u16_at(device_descriptor(identity), 12), 0x1234);
}

TEST(X800Usb, ConfigurationLayout) {
  DeviceIdentity identity;
  identity.line_count = 4;
  identity.sample_rates_hz = {8000, 16000};
  const auto configuration = configuration_descriptor(identity);
  EXPECT_EQ(u16_at(configuration, 2), configuration.size());  // wTotalLength
  const auto descriptors = split(configuration);
  // config, if0, ep81, ep02, if1, AC header, input terminal, output terminal,
  // if2 alt0, if2 alt1, AS general, format type, ep83, CS endpoint
  ASSERT_EQ(descriptors.size(), 14u);

  const auto& config = descriptors[0];
  EXPECT_EQ(config[0], 9);
  EXPECT_EQ(config[1], descriptor_configuration);
  EXPECT_EQ(config[4], 3);  // bNumInterfaces
  EXPECT_EQ(config[5], 1);  // bConfigurationValue
  EXPECT_EQ(config[7] & 0x80, 0x80);

  const auto& vendor = descriptors[1];
  EXPECT_EQ(vendor[0], 9);
  EXPECT_EQ(vendor[1], descriptor_interface);
  EXPECT_EQ(vendor[2], 0);     // interface 0
  EXPECT_EQ(vendor[4], 2);     // two endpoints
  EXPECT_EQ(vendor[5], 0xFF);  // vendor class

  const auto& events_in = descriptors[2];
  EXPECT_EQ(events_in[0], 7);
  EXPECT_EQ(events_in[1], descriptor_endpoint);
  EXPECT_EQ(events_in[2], 0x81);
  EXPECT_EQ(events_in[3], 0x03);  // interrupt
  EXPECT_EQ(u16_at(events_in, 4), 64);
  EXPECT_EQ(events_in[6], 1);  // 1 ms
  const auto& commands_out = descriptors[3];
  EXPECT_EQ(commands_out[2], 0x02);
  EXPECT_EQ(commands_out[3], 0x03);
  EXPECT_EQ(u16_at(commands_out, 4), 64);

  const auto& control = descriptors[4];
  EXPECT_EQ(control[2], audio_control_interface);
  EXPECT_EQ(control[4], 0);
  EXPECT_EQ(control[5], 0x01);
  EXPECT_EQ(control[6], 0x01);

  const auto& header = descriptors[5];
  EXPECT_EQ(header[1], descriptor_cs_interface);
  EXPECT_EQ(header[2], 0x01);
  EXPECT_EQ(u16_at(header, 3), 0x0100);  // UAC 1.0
  // The class-specific total covers the header and both terminals.
  EXPECT_EQ(u16_at(header, 5), header.size() + descriptors[6].size() + descriptors[7].size());
  EXPECT_EQ(header[7], 1);
  EXPECT_EQ(header[8], audio_streaming_interface);

  const auto& input = descriptors[6];
  EXPECT_EQ(input[0], 12);
  EXPECT_EQ(input[2], 0x02);
  EXPECT_EQ(u16_at(input, 4), 0x0501);  // phone line
  EXPECT_EQ(input[7], 4);               // channels = lines
  EXPECT_EQ(u16_at(input, 8), 0);
  const auto& output = descriptors[7];
  EXPECT_EQ(output[0], 9);
  EXPECT_EQ(output[2], 0x03);
  EXPECT_EQ(u16_at(output, 4), 0x0101);  // USB streaming
  EXPECT_EQ(output[7], input[3]);        // fed by the input terminal

  EXPECT_EQ(descriptors[8][2], audio_streaming_interface);
  EXPECT_EQ(descriptors[8][3], 0);  // alt 0
  EXPECT_EQ(descriptors[8][4], 0);
  EXPECT_EQ(descriptors[9][3], 1);  // alt 1
  EXPECT_EQ(descriptors[9][4], 1);
  EXPECT_EQ(descriptors[9][6], 0x02);

  const auto& general = descriptors[10];
  EXPECT_EQ(general[2], 0x01);
  EXPECT_EQ(general[3], output[3]);  // terminal link
  EXPECT_EQ(u16_at(general, 5), 0x0001);  // PCM

  const auto& format = descriptors[11];
  EXPECT_EQ(format[0], 8 + 3 * 2);
  EXPECT_EQ(format[2], 0x02);
  EXPECT_EQ(format[3], 1);   // type I
  EXPECT_EQ(format[4], 4);   // channels
  EXPECT_EQ(format[5], 2);   // bytes per sample
  EXPECT_EQ(format[6], 16);  // bits
  EXPECT_EQ(format[7], 2);   // two discrete rates
  EXPECT_EQ(format[8] | format[9] << 8 | format[10] << 16, 8000);
  EXPECT_EQ(format[11] | format[12] << 8 | format[13] << 16, 16000);

  const auto& audio_in = descriptors[12];
  EXPECT_EQ(audio_in[0], 9);
  EXPECT_EQ(audio_in[1], descriptor_endpoint);
  EXPECT_EQ(audio_in[2], endpoint_audio_in);
  EXPECT_EQ(audio_in[3], 0x05);  // isochronous, asynchronous
  EXPECT_EQ(u16_at(audio_in, 4), (16000 / 1000 + 1) * 4 * 2);
  EXPECT_EQ(descriptors[13][1], descriptor_cs_endpoint);
}

TEST(X800Usb, SixteenLinesAtSixteenKilohertzFitFullSpeed) {
  DeviceIdentity identity;
  identity.line_count = 16;
  identity.sample_rates_hz = {16000};
  const auto descriptors = split(configuration_descriptor(identity));
  ASSERT_EQ(descriptors.size(), 14u);
  EXPECT_EQ(u16_at(descriptors[12], 4), 544);
  EXPECT_EQ(descriptors[6][7], 16);
}

TEST(X800Usb, SysfsDescriptorsAreDeviceThenConfiguration) {
  DeviceIdentity identity;
  const auto both = sysfs_descriptors(identity);
  const auto device = device_descriptor(identity);
  const auto configuration = configuration_descriptor(identity);
  ASSERT_EQ(both.size(), device.size() + configuration.size());
  EXPECT_TRUE(std::equal(device.begin(), device.end(), both.begin()));
  EXPECT_TRUE(std::equal(configuration.begin(), configuration.end(), both.begin() + 18));
}

TEST(X800Usb, StringDescriptors) {
  EXPECT_EQ(string_descriptor(0, "ignored"), (std::vector<std::uint8_t>{4, 3, 0x09, 0x04}));
  EXPECT_EQ(string_descriptor(3, "X8"), (std::vector<std::uint8_t>{6, 3, 'X', 0, '8', 0}));
  const auto longest = string_descriptor(2, std::string(200, 'a'));
  EXPECT_EQ(longest.size(), 254u);
  EXPECT_EQ(longest[0], 254);
}

TEST(X800Usb, RejectsImpossibleIdentities) {
  DeviceIdentity identity;
  identity.line_count = 0;
  EXPECT_THROW(configuration_descriptor(identity), std::invalid_argument);
  identity.line_count = 17;
  EXPECT_THROW(configuration_descriptor(identity), std::invalid_argument);
  identity.line_count = 4;
  identity.sample_rates_hz.clear();
  EXPECT_THROW(configuration_descriptor(identity), std::invalid_argument);
}

}  // namespace
