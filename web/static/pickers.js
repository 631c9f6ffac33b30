// Registration forms: type a customer or a product and pick it from the archive; the picked
// record fills the form's fields (which ones, the server says per suggestion). A customer who
// is not in the archive yet can be added from here.
(function () {
  "use strict";

  const form = document.getElementById("start-form");
  if (!form || !form.dataset.pickCustomers) {
    return;
  }
  const words = document.getElementById("picker-words").dataset;
  const csrf = form.querySelector("input[name=csrf_token]");
  let customerId = "";

  function input(key) {
    return form.querySelector(`[name="${key}"]`);
  }

  function fill(fields) {
    Object.entries(fields).forEach(([key, value]) => {
      const target = input(key);
      if (!target) {
        return;
      }
      if (target.type === "checkbox") {
        target.checked = value === true || value === "true";
      } else if (value !== "" || target.value === "") {
        target.value = typeof value === "string" && target.type === "datetime-local" && value.length === 10
          ? `${value}T00:00`
          : value;
      }
      target.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function attach(field, url, kind, onPick) {
    field.setAttribute("autocomplete", "off");
    field.setAttribute("role", "combobox");
    field.setAttribute("aria-autocomplete", "list");
    field.setAttribute("aria-expanded", "false");
    field.dataset.picker = kind;
    field.title = words.hint;
    const list = document.createElement("ul");
    list.className = "picker-list";
    list.id = `picker-${kind}-${field.name}`;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    field.setAttribute("aria-controls", list.id);
    field.insertAdjacentElement("afterend", list);
    let timer = null;
    let asked = 0;

    function close() {
      list.hidden = true;
      field.setAttribute("aria-expanded", "false");
    }

    function show(items) {
      list.textContent = "";
      items.forEach((item) => {
        const option = document.createElement("li");
        option.setAttribute("role", "option");
        option.tabIndex = -1;
        option.className = "picker-option";
        const label = document.createElement("strong");
        label.textContent = item.label;
        option.appendChild(label);
        if (item.detail) {
          const detail = document.createElement("span");
          detail.textContent = ` ${item.detail}`;
          option.appendChild(detail);
        }
        const choose = (event) => {
          event.preventDefault();
          onPick(item);
          close();
        };
        option.addEventListener("mousedown", choose);
        option.addEventListener("keydown", (event) => {
          if (event.key === "Enter") {
            choose(event);
          }
        });
        list.appendChild(option);
      });
      if (kind === "customer" && form.dataset.addCustomer && field.value.trim()
          && !items.some((item) => item.label === field.value.trim())) {
        const add = document.createElement("li");
        add.className = "picker-add";
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `${words.add}: ${field.value.trim()}`;
        button.addEventListener("mousedown", (event) => {
          event.preventDefault();
          addCustomer(field.value.trim(), list);
        });
        add.appendChild(button);
        list.appendChild(add);
      } else if (!items.length) {
        const none = document.createElement("li");
        none.className = "picker-none";
        none.textContent = words.none;
        list.appendChild(none);
      }
      list.hidden = false;
      field.setAttribute("aria-expanded", "true");
    }

    async function ask() {
      const number = ++asked;
      const query = new URLSearchParams({ q: field.value.trim() });
      if (kind === "product" && customerId) {
        query.set("customer", customerId);
      }
      const response = await fetch(`${url}?${query}`, { credentials: "same-origin" });
      if (!response.ok || number !== asked) {
        return;
      }
      show((await response.json()).items);
    }

    field.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    field.addEventListener("focus", () => {
      if (kind === "product" && customerId && !field.value) {
        ask();
      }
    });
    field.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && !list.hidden && list.firstElementChild) {
        event.preventDefault();
        list.firstElementChild.focus();
      } else if (event.key === "Escape") {
        close();
      }
    });
    field.addEventListener("blur", () => setTimeout(() => {
      if (!list.contains(document.activeElement)) {
        close();
      }
    }, 150));
  }

  async function addCustomer(name, list) {
    const body = new FormData();
    body.set("name", name);
    body.set("phone", (input("customer_phone") || {}).value || "");
    body.set("address", (input("customer_address") || {}).value || "");
    body.set("contact", (input("customer_contact") || {}).value || "");
    const response = await fetch(form.dataset.addCustomer, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "" },
    });
    const answer = await response.json();
    list.textContent = "";
    const note = document.createElement("li");
    note.className = response.ok ? "picker-added" : "picker-error";
    note.setAttribute("role", "status");
    note.textContent = response.ok ? answer.message || words.added : answer.error;
    list.appendChild(note);
    list.hidden = false;
    if (response.ok) {
      customerId = String(answer.id);
    }
  }

  const pickCustomer = (item) => {
    customerId = String(item.id);
    fill(item.fields);
  };
  const pickProduct = (item) => {
    if (item.customer) {
      pickCustomer(item.customer);
    }
    fill(item.fields);
  };
  form.dataset.customerFields.split(" ").filter(Boolean).forEach((key) => {
    const field = input(key);
    if (field) {
      attach(field, form.dataset.pickCustomers, "customer", pickCustomer);
    }
  });
  form.dataset.productFields.split(" ").filter(Boolean).forEach((key) => {
    const field = input(key);
    if (field) {
      attach(field, form.dataset.pickProducts, "product", pickProduct);
    }
  });
})();
