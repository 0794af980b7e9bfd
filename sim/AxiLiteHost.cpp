#include "AxiLiteHost.h"

#include <cstdio>

#include "HarnessError.h"

void AxiLiteHost::startWrite(uint32_t address, uint32_t data) {
    if (busy()) throw HarnessError("internal: AXI-Lite access while another is running");
    phase_ = Phase::write;
    address_ = address;
    pins_ = AxiLiteMasterPins{};
    pins_.awvalid = pins_.wvalid = pins_.bready = true;
    pins_.awaddr = address;
    pins_.wdata = data;
    pins_.wstrb = 0xF;
}

void AxiLiteHost::startRead(uint32_t address) {
    if (busy()) throw HarnessError("internal: AXI-Lite access while another is running");
    phase_ = Phase::read;
    address_ = address;
    pins_ = AxiLiteMasterPins{};
    pins_.arvalid = pins_.rready = true;
    pins_.araddr = address;
}

void AxiLiteHost::clock(const AxiLiteSlavePins& s) {
    char text[120];
    if (phase_ == Phase::write) {
        if (pins_.awvalid && s.awready) pins_.awvalid = false;
        if (pins_.wvalid && s.wready) pins_.wvalid = false;
        if (pins_.bready && s.bvalid) {
            if (pins_.awvalid || pins_.wvalid) {
                std::snprintf(text, sizeof text, "AXI-Lite write to 0x%03x: B response before the address and data were taken", address_);
                throw HarnessError(text);
            }
            if (s.bresp != 0) {
                std::snprintf(text, sizeof text, "AXI-Lite write to 0x%03x: BRESP %u, not OKAY", address_, s.bresp);
                throw HarnessError(text);
            }
            pins_ = AxiLiteMasterPins{};
            phase_ = Phase::idle;
        }
    } else if (phase_ == Phase::read) {
        if (pins_.arvalid && s.arready) pins_.arvalid = false;
        else if (!pins_.arvalid && pins_.rready && s.rvalid) {
            if (s.rresp != 0) {
                std::snprintf(text, sizeof text, "AXI-Lite read of 0x%03x: RRESP %u, not OKAY", address_, s.rresp);
                throw HarnessError(text);
            }
            data_ = s.rdata;
            pins_ = AxiLiteMasterPins{};
            phase_ = Phase::idle;
        }
    }
}
